def jvp_lecture_f(x1, x2, x1_dot, x2_dot):
    # line 7: return np.log(x1) + x1 * x2 - np.sin(x2)
    t1 = np.log(x1)
    t1_dot = x1_dot / x1
    t2 = x1 * x2
    t2_dot = x1_dot * x2 + x1 * x2_dot
    t3 = t1 + t2
    t3_dot = t1_dot + t2_dot
    t4 = np.sin(x2)
    t4_dot = x2_dot * np.cos(x2)
    t5 = t3 - t4
    t5_dot = t3_dot - t4_dot
    return (t5, t5_dot)
