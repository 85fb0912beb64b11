# ruff: noqa
# mypy: ignore-errors
# The English stemmer of PostgreSQL 18 (src/backend/snowball at commit b464e51ab, a 2025 Snowball snapshot):
# Snowball 2.2.0's generated code (search/vendor/snowball/english_stemmer.py, BSD-3-Clause, see
# search/data/snowball-COPYING) with Step 1b as that snapshot has it (the generated method restated,
# one test changed: an override of a generated step cannot call into it):
# a double consonant after a word-initial a, e or o is kept ("added" -> "add", 2.2.0 "ad").
from parity.search.vendor.snowball.english_stemmer import EnglishStemmer as _Stemmer22


class EnglishStemmer(_Stemmer22):
    # Same class name as the parent, so the parent's name-mangled helpers (self.__r_R1...) resolve.
    g_aeo = [17, 64]

    def __r_Step_1b(self):
        self.ket = self.cursor
        among_var = self.find_among_b(_Stemmer22.a_4)
        if among_var == 0:
            return False
        self.bra = self.cursor
        if among_var == 1:
            if not self.__r_R1():
                return False
            if not self.slice_from("ee"):
                return False
        else:
            v_1 = self.limit - self.cursor
            if not self.go_out_grouping_b(_Stemmer22.g_v, 97, 121):
                return False
            self.cursor -= 1
            self.cursor = self.limit - v_1
            if not self.slice_del():
                return False

            v_2 = self.limit - self.cursor
            among_var = self.find_among_b(_Stemmer22.a_3)
            if among_var == 0:
                return False
            if among_var == 2:
                # new in the snapshot: [aeo] + double at the start of the word stays as it is
                v_3 = self.limit - self.cursor
                if self.in_grouping_b(EnglishStemmer.g_aeo, 97, 111) and self.cursor <= self.limit_backward:
                    return False
                self.cursor = self.limit - v_3
            self.cursor = self.limit - v_2
            if among_var == 1:
                c = self.cursor
                self.insert(self.cursor, self.cursor, "e")
                self.cursor = c
            elif among_var == 2:
                self.ket = self.cursor
                if self.cursor <= self.limit_backward:
                    return False
                self.cursor -= 1
                self.bra = self.cursor
                if not self.slice_del():
                    return False

            else:
                if self.cursor != self.I_p1:
                    return False
                v_3 = self.limit - self.cursor
                if not self.__r_shortv():
                    return False
                self.cursor = self.limit - v_3
                c = self.cursor
                self.insert(self.cursor, self.cursor, "e")
                self.cursor = c
        return True
