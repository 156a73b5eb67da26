//! Trainer plugins (`[train] trainer = "..."`).

pub mod finetune;
