def grad_lecture_f(x1, x2):
    # forward sweep
    # line 7: return np.log(x1) + x1 * x2 - np.sin(x2)
    t1 = np.log(x1)
    t2 = x1 * x2
    t3 = t1 + t2
    t4 = np.sin(x2)
    t5 = t3 - t4
    # reverse sweep
    t5_bar = scalar_seed(t5)
    # line 7: return np.log(x1) + x1 * x2 - np.sin(x2)
    t3_bar = unbroadcast(t5_bar, t3)
    t4_bar = unbroadcast(-t5_bar, t4)
    x2_bar = t4_bar * np.cos(x2)
    t1_bar = unbroadcast(t3_bar, t1)
    t2_bar = unbroadcast(t3_bar, t2)
    x1_bar = unbroadcast(t2_bar * x2, x1)
    x2_bar = x2_bar + unbroadcast(t2_bar * x1, x2)
    x1_bar = x1_bar + t1_bar / x1
    return (x1_bar, x2_bar)
