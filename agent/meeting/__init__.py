"""Meeting mode: transcript, addressing, transcript questions, console asks, the summary."""
