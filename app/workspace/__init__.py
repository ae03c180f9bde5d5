"""The pages that combine features: the portfolio, the record and its journal, data protection over
time. This floor sits above the features (pathways, meetings, barriers, followup…), which never
import it; entry points (views, API, CLI, scheduler) sit above it. `make lint` checks the floors."""
