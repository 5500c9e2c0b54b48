"""The reading model's training code: data (:mod:`.data`), made-up hard cases
(:mod:`.synthetic`), the resumable training loop (:mod:`.loop`) and the held-out figures
and operating points written into its card (:mod:`.figures`). ``evals/train_reader.py`` is
the command that puts them together."""
