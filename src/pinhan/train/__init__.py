"""pinhan.train: the loop shared by train and finetune, checkpoints, schedule, distributed."""
