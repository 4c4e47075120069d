"""Jieba tokenisation on normalised text, so Traditional and full-width input look like
Simplified half-width input to every featurizer after it."""

from __future__ import annotations

from typing import List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from bot.textnorm import normalize


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class NormalizingJiebaTokenizer(JiebaTokenizer):
    """JiebaTokenizer that segments the normalised text (same length, so offsets still point
    into the resident's original characters)."""

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        import jieba

        text = normalize(message.get(attribute))
        tokens = [Token(word, start) for (word, start, _end) in jieba.tokenize(text) if word.strip()]
        return self._apply_token_pattern(tokens)
