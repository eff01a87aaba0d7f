def grad_layer(X, W, v):
    # forward sweep
    # line 12: h = np.tanh(X @ W)
    h = np.tanh(X @ W)
    # line 13: return np.sum(np.dot(h, v) ** 2)
    t1 = h @ v
    # reverse sweep
    # line 13: return np.sum(np.dot(h, v) ** 2)
    t2 = 2.0 * t1
    h_bar = np.outer(t2, v)
    v_bar = h.T @ t2
    # line 12: h = np.tanh(X @ W)
    t3 = h_bar * (1.0 - h * h)
    X_bar = t3 @ W.T
    W_bar = X.T @ t3
    return (X_bar, W_bar, v_bar)
