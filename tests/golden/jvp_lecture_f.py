def jvp_lecture_f(x1, x2, x1_dot, x2_dot):
    return (np.log(x1) + x1 * x2 - np.sin(x2), x1_dot / x1 + (x1_dot * x2 + x1 * x2_dot) - x2_dot * np.cos(x2))
