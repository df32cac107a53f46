# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. Order-book data
#
# Placeholder while the engine lands.

# %% tags=["parameters"]
DATA = "synthetic"
SEED = 7

# %%
print(DATA, SEED)

# %% [markdown]
# See {cite:t}`cont2014price`.
