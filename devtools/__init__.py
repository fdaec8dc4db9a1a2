"""Development-only code: the local Stripe sandbox, the all-in-one local runner, lint plugins.

Runtime code never imports this package (an import contract says so) and the production image
leaves it out.
"""
