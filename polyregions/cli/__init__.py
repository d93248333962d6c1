"""The polyregions command (`polyregions.cli.main:main`)."""
