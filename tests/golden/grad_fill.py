def grad_fill(x):
    # values the reverse sweep needs, saved as loops overwrite them
    tape = []
    # forward sweep
    # line 30: out = np.zeros(len(x))
    t1 = len(x)
    out = np.zeros(t1)
    # line 31: for i in range(len(x)):
    t2 = range(t1)
    for i in t2:
        # line 32: out[i] = np.tanh(x[i]) * x[i]
        t3 = x[i]
        t4 = np.tanh(t3)
        t5 = t4 * t3
        out[i] = t5
        tape.append(t5)
        tape.append(t4)
    # line 33: return np.sum(out)
    t6 = np.sum(out)
    # reverse sweep
    t6_bar = scalar_seed(t6)
    # line 33: return np.sum(out)
    out_bar = unreduce(t6_bar, out, None, False)
    # line 31: for i in range(len(x)):
    out_bar = own(out_bar)
    x_bar = zeros_like(x)
    for i in reversed(t2):
        t4 = tape.pop()
        t5 = tape.pop()
        # line 32: out[i] = np.tanh(x[i]) * x[i]
        t7 = x[i]
        t8 = detach(assigned_part(out_bar, i, t5), out_bar)
        out_bar[i] = 0.0
        t4_bar = unbroadcast(t8 * t7, t4)
        t3_bar = unbroadcast(t8 * t4, t7)
        t3_bar = t3_bar + t4_bar * (1.0 - t4 * t4)
        x_bar[i] += t3_bar
    return x_bar
