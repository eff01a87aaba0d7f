def grad_loop_and_branch(x, w):
    # values the reverse sweep needs, saved as loops overwrite them
    tape = []
    # forward sweep
    # line 21: for i in range(len(x)):
    t1 = range(len(x))
    s = 0.0
    for i in t1:
        # line 22: if x[i] > 0:
        t2 = x[i]
        if t2 > 0:
            # line 23: s = s + w * x[i] ** 2
            t3 = w * t2 ** 2
            s_1 = s + t3
            t_shape = shape_of(t3)
            tape.append(t_shape)
        else:
            # line 25: s = s - np.sin(x[i])
            s_1 = s - np.sin(t2)
        s_shape = shape_of(s)
        tape.append(s_shape)
        s = s_1
    # reverse sweep
    s_bar = scalar_seed(s)
    # line 21: for i in range(len(x)):
    x_bar = zeros_like(x)
    w_bar = zeros_like(w)
    for i in reversed(t1):
        s_shape = tape.pop()
        # line 22: if x[i] > 0:
        t4 = x[i]
        if t4 > 0:
            t_shape = tape.pop()
            # line 23: s = s + w * x[i] ** 2
            t5 = t4 ** 2
            s_bar_1 = unbroadcast(s_bar, s_shape)
            t3_bar = unbroadcast(s_bar, t_shape)
            w_bar = w_bar + unbroadcast(t3_bar * t5, w)
            t2_bar = unbroadcast(t3_bar * w, t5) * 2 * t4
            s_bar = s_bar_1
        else:
            # line 25: s = s - np.sin(x[i])
            s_bar_1 = unbroadcast(s_bar, s_shape)
            t2_bar = unbroadcast(-s_bar, t4) * np.cos(t4)
            s_bar = s_bar_1
        # line 22: if x[i] > 0:
        x_bar[i] += t2_bar
    return (x_bar, w_bar)
