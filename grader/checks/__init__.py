"""The suite-author API: assertions with learner-facing feedback, diagnoses, static rules."""
