"""Every change make-book makes to another library's behaviour, each fenced, checked and
installed from one place.
"""
