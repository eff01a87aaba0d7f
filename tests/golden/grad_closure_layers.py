def grad_closure_layers(W, x):
    # forward sweep
    # line 51 in layer: return act(scale * (W @ v))
    z = 2.0 * (W @ x)
    # line 48 in act: act = lambda z: np.tanh(z)
    v = np.tanh(z)
    # line 51 in layer: return act(scale * (W @ v))
    z = 2.0 * (W @ v)
    # line 48 in act: act = lambda z: np.tanh(z)
    t1 = np.tanh(z)
    # line 53: return np.sum(layer(layer(x)) ** 2)
    t2 = t1 ** 2
    result = np.sum(t2)
    # reverse sweep
    result_bar = scalar_seed(result)
    # line 53: return np.sum(layer(layer(x)) ** 2)
    t2_bar = unreduce(result_bar, t2, None, False)
    # line 48 in act: act = lambda z: np.tanh(z)
    z_bar = t2_bar * 2 * t1 * (1.0 - t1 * t1)
    # line 51 in layer: return act(scale * (W @ v))
    t3 = z_bar * 2.0
    W_bar = matmul_bar_a(t3, W, v)
    v_bar = matmul_bar_b(t3, W, v)
    # line 48 in act: act = lambda z: np.tanh(z)
    z_bar = v_bar * (1.0 - v * v)
    # line 51 in layer: return act(scale * (W @ v))
    t4 = z_bar * 2.0
    x_bar = matmul_bar_b(t4, W, x)
    W_bar = W_bar + matmul_bar_a(t4, W, x)
    return (W_bar, x_bar)
