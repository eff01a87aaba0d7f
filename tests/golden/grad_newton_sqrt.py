def grad_newton_sqrt(a):
    # values the reverse sweep needs, saved as loops overwrite them
    tape = []
    # forward sweep
    # line 38: for it in range(50):
    items = range(50)
    x_new = None
    broke = False
    x = a
    k = 0
    n_iterations = 0
    while not broke and k < len(items):
        tape.append(x)
        # line 39: x_new = 0.5 * (x + a / x)
        t1 = a / x
        x_new = 0.5 * (x + t1)
        # line 40: if abs(x_new - x) < 1e-12:
        t2 = abs(x_new - x) < 1e-12
        if t2:
            broke = True
        else:
            x = x_new
        # line 38: for it in range(50):
        k = k + 1
        tape.append(t2)
        tape.append(t1)
        n_iterations = n_iterations + 1
    # reverse sweep
    x_new_bar = scalar_seed(x_new)
    # line 38: for it in range(50):
    x_bar = zeros_like(x)
    a_bar = zeros_like(a)
    for _ in range(n_iterations):
        t1 = tape.pop()
        t2 = tape.pop()
        x = tape.pop()
        # line 40: if abs(x_new - x) < 1e-12:
        if t2:
            x_new_bar_1 = x_new_bar
        else:
            x_new_bar_1 = x_new_bar + x_bar
            x_bar = zeros_like(x)
        # line 39: x_new = 0.5 * (x + a / x)
        t3 = x_new_bar_1 * 0.5
        t1_bar = unbroadcast(t3, t1)
        x_bar = x_bar + unbroadcast(t3, x)
        a_bar = a_bar + unbroadcast(t1_bar / x, a)
        x_bar = x_bar + unbroadcast(-t1_bar * t1 / x, x)
        # line 38: for it in range(50):
        x_new_bar = zeros_like(x_new_bar)
    a_bar = x_bar + a_bar
    return a_bar
