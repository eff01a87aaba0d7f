def grad_fill(x):
    # forward sweep
    # line 30: out = np.zeros(len(x))
    t1 = len(x)
    out = np.zeros(t1)
    # line 31: for i in range(len(x)):
    t2 = range(t1)
    for i in t2:
        # line 32: out[i] = np.tanh(x[i]) * x[i]
        t3 = x[i]
        out[i] = np.tanh(t3) * t3
    # line 33: return np.sum(out)
    t4 = np.sum(out)
    # reverse sweep
    t4_bar = scalar_seed(t4)
    # line 33: return np.sum(out)
    out_bar = unreduce(t4_bar, out, None, False)
    # line 31: for i in range(len(x)):
    out_bar = own(out_bar)
    x_bar = zeros_like(x)
    for i in reversed(t2):
        # line 32: out[i] = np.tanh(x[i]) * x[i]
        t5 = x[i]
        t6 = np.tanh(t5)
        t7 = detach(assigned_part(out_bar, i, t6 * t5), out_bar)
        out_bar[i] = 0.0
        t3_bar = unbroadcast(t7 * t6, t5)
        t3_bar = t3_bar + unbroadcast(t7 * t5, t6) * (1.0 - t6 * t6)
        x_bar[i] += t3_bar
    return x_bar
