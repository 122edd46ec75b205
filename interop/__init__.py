"""The directory's public data in open standards: HSDS 3.1 (`interop.hsds`) and FHIR Plan-Net (`interop.plannet`).

Read only, published profiles only, no PHI: both read through `directory` and nothing else reads them.
"""
