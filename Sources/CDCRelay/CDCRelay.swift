// Placeholder: the CDC relay issue fills this module.
