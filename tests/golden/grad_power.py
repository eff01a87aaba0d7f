def power_fwd(x, n):
    # line 57: return 1.0 if n == 0 else x * power(x, n - 1)
    t1 = n == 0
    if t1:
        t4 = 1.0
        power_saved = None
        t3 = None
    else:
        t3, power_saved = power_fwd(x, n - 1)
        t4 = x * t3
    return (t4, (x, t1, t3, power_saved))


def power_bwd(saved, out_bar):
    x = saved[0]
    t1 = saved[2]
    power_saved = saved[3]
    # line 57: return 1.0 if n == 0 else x * power(x, n - 1)
    if saved[1]:
        x_bar = zeros_like(x)
    else:
        x_bar = unbroadcast(out_bar * t1, x)
        t1_bar = unbroadcast(out_bar * x, t1)
        x_bar_1 = power_bwd(power_saved, t1_bar)
        x_bar = x_bar + x_bar_1
    return x_bar


def grad_power(x, n):
    # forward sweep
    # line 57: return 1.0 if n == 0 else x * power(x, n - 1)
    t1 = n == 0
    if t1:
        t4 = 1.0
    else:
        t3, power_saved = power_fwd(x, n - 1)
        t4 = x * t3
    # reverse sweep
    t4_bar = scalar_seed(t4)
    # line 57: return 1.0 if n == 0 else x * power(x, n - 1)
    if t1:
        x_bar = zeros_like(x)
    else:
        x_bar = unbroadcast(t4_bar * t3, x)
        t3_bar = unbroadcast(t4_bar * x, t3)
        x_bar_1 = power_bwd(power_saved, t3_bar)
        x_bar = x_bar + x_bar_1
    return x_bar
