"""Technical features of validated bars and the observation the trading model reads."""
