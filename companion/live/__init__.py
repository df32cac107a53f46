"""Mini live executor: feeds, executor loop, paper venue and the durable journal (:mod:`.journal`)."""
