#!/usr/bin/env bash
# Writes a word-level WordPiece vocabulary (no ## pieces) of the N most frequent words of a
# training file, for the small models trustx builds from scratch (`architecture = { vocab = .. }`).
# Words are split like BERT's basic tokenizer: lower-cased, punctuation as separate tokens.
# Ties in frequency are broken by the word, so the output is the same on every machine.
#
#   bash scripts/make-word-vocab.sh data/sst2/stsa.binary.train.head3000 3000 > data/vocab/sst2-words.txt
set -euo pipefail
file=$1
n=${2:-3000}
printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n'
# SST training files start with the label and write brackets as -lrb-/-rrb-.
LC_ALL=C sed -e 's/^[0-9] //' -e 's/-lrb-/(/g' -e 's/-rrb-/)/g' "$file" \
  | LC_ALL=C tr 'A-Z' 'a-z' \
  | LC_ALL=C sed -e 's/[][!"#$%&()*+,.\/:;<=>?@\\^_`{|}~'"'"'-]/ & /g' \
  | LC_ALL=C tr -s ' \t' '\n\n' \
  | LC_ALL=C grep -v '^$' \
  | LC_ALL=C sort | LC_ALL=C uniq -c \
  | LC_ALL=C sort -k1,1nr -k2,2 \
  | head -n "$n" | awk '{print $2}'
