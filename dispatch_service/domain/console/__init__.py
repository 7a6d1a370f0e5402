"""What the operator console shows of a mall: route phases, exceptions most urgent first, the
day's figures and the same-day state. Pure: the caller loads the rows and passes `now`.
"""
