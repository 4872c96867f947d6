"""Text classification (the text family): a CSV of texts and labels, subword tokens, a BiGRU."""
