from compare import case


@case(inputs={"x": [1.0, 2.0]})
def listed(x):
    return x.sum()
