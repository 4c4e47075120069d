"""Custom Rasa NLU components: normalising tokenizer, pattern entities, category and urgency."""
