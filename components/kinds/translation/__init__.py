"""Translation (the seq2seq family): sentence pairs → subword tokens → a GRU encoder-decoder.

Judged by chrF and BLEU beside two baselines: copying the source, and a word-by-word dictionary.
"""
