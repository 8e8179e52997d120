// hapbx: the admin command. Placeholder until the CLI lands.
int main() { return 0; }
