"""The state/action tables of PostgreSQL's default text-search parser (wparser_def.c), as data.

One block per state, in the C enum order; one row per action, in the C row order:
``test[=char] FLAGS[|FLAGS] tostate type [special]``. ``-`` is the catch-all row (the C NULL test)
and ``Null`` as tostate keeps the current state. ``search.parser`` builds its tables from this text.
"""

from __future__ import annotations

#: the states, in the order of the C enum TParserState (TPS_ prefix dropped)
STATE_NAMES_TEXT = """
    Base InNumWord InAsciiWord InWord InUnsignedInt InSignedIntFirst
    InSignedInt InSpace InUDecimalFirst InUDecimal InDecimalFirst InDecimal
    InVerVersion InSVerVersion InVersionFirst InVersion InMantissaFirst InMantissaSign
    InMantissa InXMLEntityFirst InXMLEntity InXMLEntityNumFirst InXMLEntityNum InXMLEntityHexNumFirst
    InXMLEntityHexNum InXMLEntityEnd InTagFirst InXMLBegin InTagCloseFirst InTagName
    InTagBeginEnd InTag InTagEscapeK InTagEscapeKK InTagBackSleshed InTagEnd
    InCommentFirst InCommentLast InComment InCloseCommentFirst InCloseCommentLast InCommentEnd
    InHostFirstDomain InHostDomainSecond InHostDomain InPortFirst InPort InHostFirstAN
    InHost InEmail InFileFirst InFileTwiddle InPathFirst InPathFirstFirst
    InPathSecond InFile InFileNext InURLPathFirst InURLPathStart InURLPath
    InFURL InProtocolFirst InProtocolSecond InProtocolEnd InHyphenAsciiWordFirst InHyphenAsciiWord
    InHyphenWordFirst InHyphenWord InHyphenNumWordFirst InHyphenNumWord InHyphenDigitLookahead InParseHyphen
    InParseHyphenHyphen InHyphenWordPart InHyphenAsciiWordPart InHyphenNumWordPart InHyphenUnsignedInt Null
"""

#: p_isspecial's spacing combining marks that continue a word (the C code's binary-searched list)
STRANGE_LETTERS_HEX = """
    0x0903 0x093E 0x093F 0x0940 0x0949 0x094A 0x094B 0x094C 0x0982 0x0983 0x09BE 0x09BF
    0x09C0 0x09C7 0x09C8 0x09CB 0x09CC 0x09D7 0x0A03 0x0A3E 0x0A3F 0x0A40 0x0A83 0x0ABE
    0x0ABF 0x0AC0 0x0AC9 0x0ACB 0x0ACC 0x0B02 0x0B03 0x0B3E 0x0B40 0x0B47 0x0B48 0x0B4B
    0x0B4C 0x0B57 0x0BBE 0x0BBF 0x0BC1 0x0BC2 0x0BC6 0x0BC7 0x0BC8 0x0BCA 0x0BCB 0x0BCC
    0x0BD7 0x0C01 0x0C02 0x0C03 0x0C41 0x0C42 0x0C43 0x0C44 0x0C82 0x0C83 0x0CBE 0x0CC0
    0x0CC1 0x0CC2 0x0CC3 0x0CC4 0x0CC7 0x0CC8 0x0CCA 0x0CCB 0x0CD5 0x0CD6 0x0D02 0x0D03
    0x0D3E 0x0D3F 0x0D40 0x0D46 0x0D47 0x0D48 0x0D4A 0x0D4B 0x0D4C 0x0D57 0x0D82 0x0D83
    0x0DCF 0x0DD0 0x0DD1 0x0DD8 0x0DD9 0x0DDA 0x0DDB 0x0DDC 0x0DDD 0x0DDE 0x0DDF 0x0DF2
    0x0DF3 0x0F3E 0x0F3F 0x0F7F 0x102B 0x102C 0x1031 0x1038 0x103B 0x103C 0x1056 0x1057
    0x1062 0x1063 0x1064 0x1067 0x1068 0x1069 0x106A 0x106B 0x106C 0x106D 0x1083 0x1084
    0x1087 0x1088 0x1089 0x108A 0x108B 0x108C 0x108F 0x17B6 0x17BE 0x17BF 0x17C0 0x17C1
    0x17C2 0x17C3 0x17C4 0x17C5 0x17C7 0x17C8 0x1923 0x1924 0x1925 0x1926 0x1929 0x192A
    0x192B 0x1930 0x1931 0x1933 0x1934 0x1935 0x1936 0x1937 0x1938 0x19B0 0x19B1 0x19B2
    0x19B3 0x19B4 0x19B5 0x19B6 0x19B7 0x19B8 0x19B9 0x19BA 0x19BB 0x19BC 0x19BD 0x19BE
    0x19BF 0x19C0 0x19C8 0x19C9 0x1A19 0x1A1A 0x1A1B 0x1B04 0x1B35 0x1B3B 0x1B3D 0x1B3E
    0x1B3F 0x1B40 0x1B41 0x1B43 0x1B44 0x1B82 0x1BA1 0x1BA6 0x1BA7 0x1BAA 0x1C24 0x1C25
    0x1C26 0x1C27 0x1C28 0x1C29 0x1C2A 0x1C2B 0x1C34 0x1C35 0xA823 0xA824 0xA827 0xA880
    0xA881 0xA8B4 0xA8B5 0xA8B6 0xA8B7 0xA8B8 0xA8B9 0xA8BA 0xA8BB 0xA8BC 0xA8BD 0xA8BE
    0xA8BF 0xA8C0 0xA8C1 0xA8C2 0xA8C3 0xA952 0xA953 0xAA2F 0xAA30 0xAA33 0xAA34 0xAA4D
"""

ACTION_TABLES = r"""
Base
EOF NEXT Null 0
eq=< PUSH InTagFirst 0
ignore NEXT InSpace 0
asclet NEXT InAsciiWord 0
alpha NEXT InWord 0
digit NEXT InUnsignedInt 0
eq=- PUSH InSignedIntFirst 0
eq=+ PUSH InSignedIntFirst 0
eq=& PUSH InXMLEntityFirst 0
eq=~ PUSH InFileTwiddle 0
eq=/ PUSH InFileFirst 0
eq=. PUSH InPathFirstFirst 0
- NEXT InSpace 0

InNumWord
EOF BINGO Base NUMWORD
alnum NEXT InNumWord 0
special NEXT InNumWord 0
eq=@ PUSH InEmail 0
eq=/ PUSH InFileFirst 0
eq=. PUSH InFileNext 0
eq=- PUSH InHyphenNumWordFirst 0
- BINGO Base NUMWORD

InAsciiWord
EOF BINGO Base ASCIIWORD
asclet NEXT Null 0
eq=. PUSH InHostFirstDomain 0
eq=. PUSH InFileNext 0
eq=- PUSH InHostFirstAN 0
eq=- PUSH InHyphenAsciiWordFirst 0
eq=_ PUSH InHostFirstAN 0
eq=@ PUSH InEmail 0
eq=: PUSH InProtocolFirst 0
eq=/ PUSH InFileFirst 0
digit PUSH InHost 0
digit NEXT InNumWord 0
alpha NEXT InWord 0
special NEXT InWord 0
- BINGO Base ASCIIWORD

InWord
EOF BINGO Base WORD
alpha NEXT Null 0
special NEXT Null 0
digit NEXT InNumWord 0
eq=- PUSH InHyphenWordFirst 0
- BINGO Base WORD

InUnsignedInt
EOF BINGO Base UNSIGNEDINT
digit NEXT Null 0
eq=. PUSH InHostFirstDomain 0
eq=. PUSH InUDecimalFirst 0
eq=e PUSH InMantissaFirst 0
eq=E PUSH InMantissaFirst 0
eq=- PUSH InHostFirstAN 0
eq=_ PUSH InHostFirstAN 0
eq=@ PUSH InEmail 0
asclet PUSH InHost 0
alpha NEXT InNumWord 0
special NEXT InNumWord 0
eq=/ PUSH InFileFirst 0
- BINGO Base UNSIGNEDINT

InSignedIntFirst
EOF POP Null 0
digit NEXT|CLEAR InSignedInt 0
- POP Null 0

InSignedInt
EOF BINGO Base SIGNEDINT
digit NEXT Null 0
eq=. PUSH InDecimalFirst 0
eq=e PUSH InMantissaFirst 0
eq=E PUSH InMantissaFirst 0
- BINGO Base SIGNEDINT

InSpace
EOF BINGO Base SPACE
eq=< BINGO Base SPACE
ignore NEXT Null 0
eq=- BINGO Base SPACE
eq=+ BINGO Base SPACE
eq=& BINGO Base SPACE
eq=/ BINGO Base SPACE
notalnum NEXT InSpace 0
- BINGO Base SPACE

InUDecimalFirst
EOF POP Null 0
digit CLEAR InUDecimal 0
- POP Null 0

InUDecimal
EOF BINGO Base DECIMAL
digit NEXT InUDecimal 0
eq=. PUSH InVersionFirst 0
eq=e PUSH InMantissaFirst 0
eq=E PUSH InMantissaFirst 0
- BINGO Base DECIMAL

InDecimalFirst
EOF POP Null 0
digit CLEAR InDecimal 0
- POP Null 0

InDecimal
EOF BINGO Base DECIMAL
digit NEXT InDecimal 0
eq=. PUSH InVerVersion 0
eq=e PUSH InMantissaFirst 0
eq=E PUSH InMantissaFirst 0
- BINGO Base DECIMAL

InVerVersion
EOF POP Null 0
digit RERUN InSVerVersion 0 VerVersion
- POP Null 0

InSVerVersion
EOF POP Null 0
digit BINGO|CLRALL InUnsignedInt SPACE
- NEXT Null 0

InVersionFirst
EOF POP Null 0
digit CLEAR InVersion 0
- POP Null 0

InVersion
EOF BINGO Base VERSION
digit NEXT InVersion 0
eq=. PUSH InVersionFirst 0
- BINGO Base VERSION

InMantissaFirst
EOF POP Null 0
digit CLEAR InMantissa 0
eq=+ NEXT InMantissaSign 0
eq=- NEXT InMantissaSign 0
- POP Null 0

InMantissaSign
EOF POP Null 0
digit CLEAR InMantissa 0
- POP Null 0

InMantissa
EOF BINGO Base SCIENTIFIC
digit NEXT InMantissa 0
- BINGO Base SCIENTIFIC

InXMLEntityFirst
EOF POP Null 0
eq=# NEXT InXMLEntityNumFirst 0
asclet NEXT InXMLEntity 0
eq=: NEXT InXMLEntity 0
eq=_ NEXT InXMLEntity 0
- POP Null 0

InXMLEntity
EOF POP Null 0
alnum NEXT InXMLEntity 0
eq=: NEXT InXMLEntity 0
eq=_ NEXT InXMLEntity 0
eq=. NEXT InXMLEntity 0
eq=- NEXT InXMLEntity 0
eq=; NEXT InXMLEntityEnd 0
- POP Null 0

InXMLEntityNumFirst
EOF POP Null 0
eq=x NEXT InXMLEntityHexNumFirst 0
eq=X NEXT InXMLEntityHexNumFirst 0
digit NEXT InXMLEntityNum 0
- POP Null 0

InXMLEntityHexNumFirst
EOF POP Null 0
xdigit NEXT InXMLEntityHexNum 0
- POP Null 0

InXMLEntityNum
EOF POP Null 0
digit NEXT InXMLEntityNum 0
eq=; NEXT InXMLEntityEnd 0
- POP Null 0

InXMLEntityHexNum
EOF POP Null 0
xdigit NEXT InXMLEntityHexNum 0
eq=; NEXT InXMLEntityEnd 0
- POP Null 0

InXMLEntityEnd
- BINGO|CLEAR Base XMLENTITY

InTagFirst
EOF POP Null 0
eq=/ PUSH InTagCloseFirst 0
eq=! PUSH InCommentFirst 0
eq=? PUSH InXMLBegin 0
asclet PUSH InTagName 0
eq=: PUSH InTagName 0
eq=_ PUSH InTagName 0
- POP Null 0

InXMLBegin
EOF POP Null 0
eq=x NEXT InTag 0
- POP Null 0

InTagCloseFirst
EOF POP Null 0
asclet NEXT InTagName 0
- POP Null 0

InTagName
EOF POP Null 0
eq=/ NEXT InTagBeginEnd 0
eq=> NEXT InTagEnd 0 Tags
space NEXT InTag 0 Tags
alnum NEXT Null 0
eq=: NEXT Null 0
eq=_ NEXT Null 0
eq=. NEXT Null 0
eq=- NEXT Null 0
- POP Null 0

InTagBeginEnd
EOF POP Null 0
eq=> NEXT InTagEnd 0
- POP Null 0

InTag
EOF POP Null 0
eq=> NEXT InTagEnd 0 Tags
eq=' NEXT InTagEscapeK 0
eq=" NEXT InTagEscapeKK 0
asclet NEXT Null 0
digit NEXT Null 0
eq== NEXT Null 0
eq=- NEXT Null 0
eq=_ NEXT Null 0
eq=# NEXT Null 0
eq=/ NEXT Null 0
eq=: NEXT Null 0
eq=. NEXT Null 0
eq=& NEXT Null 0
eq=? NEXT Null 0
eq=% NEXT Null 0
eq=~ NEXT Null 0
space NEXT Null 0 Tags
- POP Null 0

InTagEscapeK
EOF POP Null 0
eq=\ PUSH InTagBackSleshed 0
eq=' NEXT InTag 0
- NEXT InTagEscapeK 0

InTagEscapeKK
EOF POP Null 0
eq=\ PUSH InTagBackSleshed 0
eq=" NEXT InTag 0
- NEXT InTagEscapeKK 0

InTagBackSleshed
EOF POP Null 0
- MERGE Null 0

InTagEnd
- BINGO|CLRALL Base TAG

InCommentFirst
EOF POP Null 0
eq=- NEXT InCommentLast 0
eq=D NEXT InTag 0
eq=d NEXT InTag 0
- POP Null 0

InCommentLast
EOF POP Null 0
eq=- NEXT InComment 0
- POP Null 0

InComment
EOF POP Null 0
eq=- NEXT InCloseCommentFirst 0
- NEXT Null 0

InCloseCommentFirst
EOF POP Null 0
eq=- NEXT InCloseCommentLast 0
- NEXT InComment 0

InCloseCommentLast
EOF POP Null 0
eq=- NEXT Null 0
eq=> NEXT InCommentEnd 0
- NEXT InComment 0

InCommentEnd
- BINGO|CLRALL Base TAG

InHostFirstDomain
EOF POP Null 0
asclet NEXT InHostDomainSecond 0
digit NEXT InHost 0
- POP Null 0

InHostDomainSecond
EOF POP Null 0
asclet NEXT InHostDomain 0
digit PUSH InHost 0
eq=- PUSH InHostFirstAN 0
eq=_ PUSH InHostFirstAN 0
eq=. PUSH InHostFirstDomain 0
eq=@ PUSH InEmail 0
- POP Null 0

InHostDomain
EOF BINGO|CLRALL Base HOST
asclet NEXT InHostDomain 0
digit PUSH InHost 0
eq=: PUSH InPortFirst 0
eq=- PUSH InHostFirstAN 0
eq=_ PUSH InHostFirstAN 0
eq=. PUSH InHostFirstDomain 0
eq=@ PUSH InEmail 0
digit POP Null 0
stophost BINGO|CLRALL InURLPathStart HOST
eq=/ PUSH InFURL 0
- BINGO|CLRALL Base HOST

InPortFirst
EOF POP Null 0
digit NEXT InPort 0
- POP Null 0

InPort
EOF BINGO|CLRALL Base HOST
digit NEXT InPort 0
stophost BINGO|CLRALL InURLPathStart HOST
eq=/ PUSH InFURL 0
- BINGO|CLRALL Base HOST

InHostFirstAN
EOF POP Null 0
digit NEXT InHost 0
asclet NEXT InHost 0
- POP Null 0

InHost
EOF POP Null 0
digit NEXT InHost 0
asclet NEXT InHost 0
eq=@ PUSH InEmail 0
eq=. PUSH InHostFirstDomain 0
eq=- PUSH InHostFirstAN 0
eq=_ PUSH InHostFirstAN 0
- POP Null 0

InEmail
stophost POP Null 0
host BINGO|CLRALL Base EMAIL
- POP Null 0

InFileFirst
EOF POP Null 0
asclet NEXT InFile 0
digit NEXT InFile 0
eq=. NEXT InPathFirst 0
eq=_ NEXT InFile 0
eq=~ PUSH InFileTwiddle 0
- POP Null 0

InFileTwiddle
EOF POP Null 0
asclet NEXT InFile 0
digit NEXT InFile 0
eq=_ NEXT InFile 0
eq=/ NEXT InFileFirst 0
- POP Null 0

InPathFirst
EOF POP Null 0
asclet NEXT InFile 0
digit NEXT InFile 0
eq=_ NEXT InFile 0
eq=. NEXT InPathSecond 0
eq=/ NEXT InFileFirst 0
- POP Null 0

InPathFirstFirst
EOF POP Null 0
eq=. NEXT InPathSecond 0
eq=/ NEXT InFileFirst 0
- POP Null 0

InPathSecond
EOF BINGO|CLEAR Base FILEPATH
eq=/ PUSH InFileFirst 0
eq=/ BINGO|CLEAR Base FILEPATH
space BINGO|CLEAR Base FILEPATH
- POP Null 0

InFile
EOF BINGO Base FILEPATH
asclet NEXT InFile 0
digit NEXT InFile 0
eq=. PUSH InFileNext 0
eq=_ NEXT InFile 0
eq=- NEXT InFile 0
eq=/ PUSH InFileFirst 0
- BINGO Base FILEPATH

InFileNext
EOF POP Null 0
asclet CLEAR InFile 0
digit CLEAR InFile 0
eq=_ CLEAR InFile 0
- POP Null 0

InURLPathFirst
EOF POP Null 0
urlchar NEXT InURLPath 0
- POP Null 0

InURLPathStart
- NEXT InURLPath 0

InURLPath
EOF BINGO Base URLPATH
urlchar NEXT InURLPath 0
- BINGO Base URLPATH

InFURL
EOF POP Null 0
URLPath BINGO|CLRALL Base URL FURL
- POP Null 0

InProtocolFirst
EOF POP Null 0
eq=/ NEXT InProtocolSecond 0
- POP Null 0

InProtocolSecond
EOF POP Null 0
eq=/ NEXT InProtocolEnd 0
- POP Null 0

InProtocolEnd
- BINGO|CLRALL Base PROTOCOL

InHyphenAsciiWordFirst
EOF POP Null 0
asclet NEXT InHyphenAsciiWord 0
alpha NEXT InHyphenWord 0
digit NEXT InHyphenDigitLookahead 0
- POP Null 0

InHyphenAsciiWord
EOF BINGO|CLRALL InParseHyphen ASCIIHWORD Hyphen
asclet NEXT InHyphenAsciiWord 0
alpha NEXT InHyphenWord 0
special NEXT InHyphenWord 0
digit NEXT InHyphenNumWord 0
eq=- PUSH InHyphenAsciiWordFirst 0
- BINGO|CLRALL InParseHyphen ASCIIHWORD Hyphen

InHyphenWordFirst
EOF POP Null 0
alpha NEXT InHyphenWord 0
digit NEXT InHyphenDigitLookahead 0
- POP Null 0

InHyphenWord
EOF BINGO|CLRALL InParseHyphen HWORD Hyphen
alpha NEXT InHyphenWord 0
special NEXT InHyphenWord 0
digit NEXT InHyphenNumWord 0
eq=- PUSH InHyphenWordFirst 0
- BINGO|CLRALL InParseHyphen HWORD Hyphen

InHyphenNumWordFirst
EOF POP Null 0
alpha NEXT InHyphenNumWord 0
digit NEXT InHyphenDigitLookahead 0
- POP Null 0

InHyphenNumWord
EOF BINGO|CLRALL InParseHyphen NUMHWORD Hyphen
alnum NEXT InHyphenNumWord 0
special NEXT InHyphenNumWord 0
eq=- PUSH InHyphenNumWordFirst 0
- BINGO|CLRALL InParseHyphen NUMHWORD Hyphen

InHyphenDigitLookahead
EOF POP Null 0
digit NEXT InHyphenDigitLookahead 0
alpha NEXT InHyphenNumWord 0
special NEXT InHyphenNumWord 0
- POP Null 0

InParseHyphen
EOF RERUN Base 0
asclet NEXT InHyphenAsciiWordPart 0
alpha NEXT InHyphenWordPart 0
digit PUSH InHyphenUnsignedInt 0
eq=- PUSH InParseHyphenHyphen 0
- RERUN Base 0

InParseHyphenHyphen
EOF POP Null 0
alnum BINGO|CLEAR InParseHyphen SPACE
special BINGO|CLEAR InParseHyphen SPACE
- POP Null 0

InHyphenWordPart
EOF BINGO Base PARTHWORD
alpha NEXT InHyphenWordPart 0
special NEXT InHyphenWordPart 0
digit NEXT InHyphenNumWordPart 0
- BINGO InParseHyphen PARTHWORD

InHyphenAsciiWordPart
EOF BINGO Base ASCIIPARTHWORD
asclet NEXT InHyphenAsciiWordPart 0
alpha NEXT InHyphenWordPart 0
special NEXT InHyphenWordPart 0
digit NEXT InHyphenNumWordPart 0
- BINGO InParseHyphen ASCIIPARTHWORD

InHyphenNumWordPart
EOF BINGO Base NUMPARTHWORD
alnum NEXT InHyphenNumWordPart 0
special NEXT InHyphenNumWordPart 0
- BINGO InParseHyphen NUMPARTHWORD

InHyphenUnsignedInt
EOF POP Null 0
digit NEXT Null 0
alpha CLEAR InHyphenNumWordPart 0
special CLEAR InHyphenNumWordPart 0
- POP Null 0
"""
