// Module placeholder until the foundation lands its configuration and migrations.
