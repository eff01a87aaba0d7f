def grad_logistic(w, b, X, y):
    # forward sweep
    # line 15: p = sigmoid(X @ w + b)
    t1 = X @ w
    z = t1 + b
    # line 11 in sigmoid: return 1.0 / (1.0 + np.exp(-z))
    t2 = np.exp(-z)
    t3 = 1.0 + t2
    p = 1.0 / t3
    # line 16: return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    t4 = np.log(p)
    t5 = y * t4
    t6 = 1.0 - y
    t7 = 1.0 - p
    t8 = np.log(t7)
    t9 = t6 * t8
    t10 = t5 + t9
    t11 = np.mean(t10)
    t12 = -t11
    # reverse sweep
    t12_bar = scalar_seed(t12)
    # line 16: return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    t11_bar = -t12_bar
    t10_bar = unreduce(t11_bar, t10, None, False) * (size_of(t11) / max(size_of(t10), 1))
    t5_bar = unbroadcast(t10_bar, t5)
    t9_bar = unbroadcast(t10_bar, t9)
    t8_bar = unbroadcast(t9_bar * t6, t8)
    t7_bar = t8_bar / t7
    t4_bar = unbroadcast(t5_bar * y, t4)
    p_bar = -t7_bar + t4_bar / p
    # line 11 in sigmoid: return 1.0 / (1.0 + np.exp(-z))
    z_bar = -(-p_bar * p / t3 * t2)
    # line 15: p = sigmoid(X @ w + b)
    t1_bar = unbroadcast(z_bar, t1)
    b_bar = unbroadcast(z_bar, b)
    w_bar = matmul_bar_b(t1_bar, X, w)
    return (w_bar, b_bar)
