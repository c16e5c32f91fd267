// Placeholder: the PulsarClient issue fills this module.
