"""CDKTF definition of the trading platform."""
