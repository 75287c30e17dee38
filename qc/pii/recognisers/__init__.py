"""One recogniser per kind of number; importing this package registers them all in the default registry."""

from qc.pii.recognisers import (  # noqa: F401  (each module registers its recogniser)
    bank_card,
    cn_id_card,
    cn_landline,
    cn_mobile,
    intl_phone,
    us_phone,
    us_ssn,
)
