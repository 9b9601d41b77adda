"""The yearly budgets of health insurance medical costs: a province's estimate and its facilities' indicative
figures, in versions."""
