def jvp_grad_lecture_f(x1, x2, x1_dot, x2_dot):
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
    t5 = t2_bar * x2
    t5_dot = t2_bar * x2_dot
    x1_bar = unbroadcast(t5, x1)
    x1_bar_dot = unbroadcast(t5_dot, x1)
    t6 = t1_bar / x1
    t6_dot = -(x1_dot * t6 / x1)
    x1_bar = x1_bar + t6
    x1_bar_dot = x1_bar_dot + t6_dot
    return (x1_bar, x1_bar_dot)
