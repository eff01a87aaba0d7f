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
        t3 = t2 > 0
        if t3:
            # line 23: s = s + w * x[i] ** 2
            t4 = t2 ** 2
            t5 = w * t4
            s_1 = s + t5
            tape.append(t5)
            tape.append(t4)
        else:
            # line 25: s = s - np.sin(x[i])
            t6 = np.sin(t2)
            s_1 = s - t6
            tape.append(t6)
        tape.append(t3)
        tape.append(s)
        s = s_1
    # reverse sweep
    s_bar = scalar_seed(s)
    # line 21: for i in range(len(x)):
    x_bar = zeros_like(x)
    w_bar = zeros_like(w)
    for i in reversed(t1):
        s = tape.pop()
        t3 = tape.pop()
        # line 22: if x[i] > 0:
        t7 = x[i]
        if t3:
            t4 = tape.pop()
            t5 = tape.pop()
            # line 23: s = s + w * x[i] ** 2
            s_bar_1 = unbroadcast(s_bar, s)
            t5_bar = unbroadcast(s_bar, t5)
            t4_bar = unbroadcast(t5_bar * w, t4)
            w_bar = w_bar + unbroadcast(t5_bar * t4, w)
            t2_bar = t4_bar * 2 * t7
            s_bar = s_bar_1
        else:
            t6 = tape.pop()
            # line 25: s = s - np.sin(x[i])
            s_bar_1 = unbroadcast(s_bar, s)
            t6_bar = unbroadcast(-s_bar, t6)
            t2_bar = t6_bar * np.cos(t7)
            s_bar = s_bar_1
        # line 22: if x[i] > 0:
        x_bar[i] += t2_bar
    return (x_bar, w_bar)
