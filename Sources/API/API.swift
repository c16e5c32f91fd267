// Placeholder: the API issue fills this module.
