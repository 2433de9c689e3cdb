"""The LangGraph state machine that turns one message into one guarded, cited, traced answer."""
