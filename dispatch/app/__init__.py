"""The application: services wired from settings, a command's handling, committing (batch, thread,
process), the referral deadline jobs and first start."""
