"""Speech recognition (the speech family): recordings and transcripts → log-mel features.

A convolutional + BiGRU acoustic model trained with CTC over characters, judged by WER.
"""
