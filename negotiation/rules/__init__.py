"""The vocabulary and the rules of the game: the types every layer shares, the negotiation
protocol's pure rules, the bargaining game. Imports nothing of the project.
"""
