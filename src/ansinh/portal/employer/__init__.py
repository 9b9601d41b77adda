"""The employer's electronic transactions (giao dịch điện tử): registration, the employer's own users and their
duties, declarations, the statement of account, bills, payments, the 01B-HSB list and the workers' cards."""
