"""Run the Parley worker: ``python agent.py dev | start | console | connect | download-files``."""

from parley_agent.worker import main

if __name__ == "__main__":
    main()
