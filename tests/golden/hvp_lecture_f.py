def hvp_lecture_f(x1, x2, x1_dot):
    # forward sweep
    # line 7: return np.log(x1) + x1 * x2 - np.sin(x2)
    t1 = np.log(x1)
    t2 = x1 * x2
    t3 = t1 + t2
    t4 = t3 - np.sin(x2)
    # reverse sweep
    t4_bar = scalar_seed(t4)
    # line 7: return np.log(x1) + x1 * x2 - np.sin(x2)
    t3_bar = unbroadcast(t4_bar, t3)
    t1_bar = unbroadcast(t3_bar, t1)
    t2_bar = unbroadcast(t3_bar, t2)
    x1_bar = unbroadcast(t2_bar * x2, x1)
    t5 = t1_bar / x1
    t5_dot = -(x1_dot * t5 / x1)
    x1_bar = x1_bar + t5
    x1_bar_dot = unreduce(t5_dot, x1_bar)
    return x1_bar_dot
