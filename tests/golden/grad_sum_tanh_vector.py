def grad_sum_tanh(x):
    # forward sweep
    # line 8: return np.sum(np.tanh(x) * x)
    t1 = np.tanh(x)
    # reverse sweep
    # line 8: return np.sum(np.tanh(x) * x)
    x_bar = t1 + x * (1.0 - t1 * t1)
    return x_bar
