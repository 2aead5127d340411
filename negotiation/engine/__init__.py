"""The engine: scenario loading, the compiled market kernels, markets, payoffs and the Mesa model
with its parts. Knows nothing of those who use it.
"""
