"""The category and urgency classifiers, plain scikit-learn so that they train and evaluate
without Rasa; the NLU component in bot.nlu wraps them."""
